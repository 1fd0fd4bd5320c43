#!/usr/bin/perl
# A plain Perl worker: Server::Starter::server_ports() (Debian's libserver-starter-perl) gives
# KEY => FD; the worker adopts each fd and answers every connection with one line
# "gen=G pid=P key=KEY". On SIGTERM it stops accepting and exits after the connection it is
# serving, leaving the queued ones to the next generation.
use strict;
use warnings;
use IO::Select;
use Time::HiRes qw(ualarm);
use Server::Starter qw(server_ports);

my $gen = defined $ENV{SERVER_STARTER_GENERATION} ? $ENV{SERVER_STARTER_GENERATION} : '-';
my $ports = server_ports();
die "server_ports_worker: SERVER_STARTER_PORT names no socket\n" unless %$ports;

my $select = IO::Select->new;
my %key_of;
for my $key (sort keys %$ports) {
    my $fd = $ports->{$key};
    die "server_ports_worker: bad fd '$fd' for $key\n" unless $fd =~ /^\d+$/;
    open(my $listener, '+<&=', $fd) or die "server_ports_worker: fdopen($fd): $!\n";
    $select->add($listener);
    $key_of{fileno $listener} = $key;
    print STDERR "server_ports_worker: gen=$gen pid=$$ adopted key=$key fd=$fd\n";
}

my $stop = 0;
$SIG{TERM} = sub { $stop = 1 };
$SIG{PIPE} = 'IGNORE';
$SIG{ALRM} = sub {};    # only interrupts accept(): Perl's safe signals do not restart it

# Every generation selects on the same sockets, so another one may take the connection this
# one was woken for. A blocking accept() would then wait for the next connection on that
# socket while the others' queues time out. O_NONBLOCK would be shared with start_server and
# every later generation, so the wait is bounded with a timer instead.
sub accept_bounded {
    my ($listener) = @_;
    ualarm(100_000);
    my $peer = accept(my $conn, $listener);
    ualarm(0);
    return $peer ? $conn : undef;
}

until ($stop) {
    for my $listener ($select->can_read(0.5)) {
        last if $stop;
        my $conn = accept_bounded($listener) or next;
        syswrite($conn, "gen=$gen pid=$$ key=$key_of{fileno $listener}\n");
        close $conn;
    }
}
print STDERR "server_ports_worker: gen=$gen pid=$$ got TERM, exiting\n";
exit 0;
