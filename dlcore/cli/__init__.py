"""The command line: parser and one function per command."""
