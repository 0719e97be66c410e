"""The campaign service: the command side, only writer of campaign state."""
