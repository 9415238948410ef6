"""People, their credentials and what they may reach, as rows in one SQLite file (`paths.users`).

`store` keeps the rows, `passwords` hashes passwords (argon2), `keys` makes and checks API keys
and session tokens. Nothing here decides who may do what: `services.people` and
`services.permissions` do.
"""
