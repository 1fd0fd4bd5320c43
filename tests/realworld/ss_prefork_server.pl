#!/usr/bin/perl
# A Net::Server::SS::PreFork server written the way its SYNOPSIS says: start_server hands it
# the sockets through SERVER_STARTER_PORT. Each connection gets one line,
# "gen=G pid=P master=M", so a test can tell which generation (and which of its processes)
# answered.
use strict;
use warnings;

package GenServer;
use base 'Net::Server::SS::PreFork';

sub process_request {
    my $gen = defined $ENV{SERVER_STARTER_GENERATION} ? $ENV{SERVER_STARTER_GENERATION} : '-';
    print "gen=$gen pid=$$ master=" . getppid() . "\n";
}

package main;

GenServer->run(
    min_servers       => 2,
    min_spare_servers => 1,
    max_spare_servers => 3,
    max_servers       => 4,
    max_requests      => 1000,
    log_level         => 2,
);
