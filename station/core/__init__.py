"""The domain core: pure Python, no I/O. Models, validation, rules, the case state machine,
working-day deadlines and masking. Nothing here opens files, databases or sockets."""
