"""What the tests share that is not a fixture: paths, fake models, documents they write, and the
faces driven as a user drives them. Fixtures live in tests/conftest.py; no test module imports
another test module or a bench script.

A helper here that loads a real model or starts a process makes every test that calls it
`heavy` (tests/support/heavy.py reads the code), so `make test-fast` leaves those tests out
without anyone remembering to mark them."""
