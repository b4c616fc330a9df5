"""The live room: sessions, turns (one write path), the event log, sockets and presence, timers."""
