"""What the tests share that is not a fixture: paths, fake models, documents they write, and the
faces driven as a user drives them. Fixtures live in tests/conftest.py; no test module imports
another test module or a bench script.

A helper that loads a real model or starts a process is listed in `HEAVY_HELPERS`: every test
of a module that imports one is marked `heavy` (tests/conftest.py), so `make test-fast` leaves
it out without anyone remembering to."""
