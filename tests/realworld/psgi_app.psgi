# A tiny PSGI app for starlet_test.py: one line naming the generation and the process that
# answered ("gen=G pid=P master=M"), so the test can tell generations apart.
use strict;
use warnings;

sub {
    my $gen = $ENV{SERVER_STARTER_GENERATION} // '-';
    my $body = "gen=$gen pid=$$ master=" . getppid() . "\n";
    return [200, ['Content-Type' => 'text/plain', 'Content-Length' => length $body], [$body]];
};
