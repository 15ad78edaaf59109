"""Code the tests share. Test modules and conftest.py import from here, never from each other."""
