"""Property-based fuzzers over every parser that takes outside bytes (issue 12)."""
