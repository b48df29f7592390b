"""Promotion tests build real images; the session's docker_engine fixture
(tests/conftest.py) removes every envctl image the run made, once, at the end."""
