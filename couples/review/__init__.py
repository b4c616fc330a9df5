"""Review: transcripts and progress, read back from the event log (one vocabulary for every page)."""
