"""The encrypted store: SQLCipher through sqlite-utils, wrapped keys, migrations."""
