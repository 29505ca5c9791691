# Repository-root conftest: makes the checkout importable and seeds random generators per test.
