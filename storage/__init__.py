"""What ragchat's own SQLite files share (`storage.sqlite_file`): the history and the accounts
keep their rows; this keeps the file safe to open, migrate and report on."""
