"""Built-in search strategies. Each registers through the ``nasbench.strategies`` entry
point group (see pyproject.toml), exactly as a third-party package would."""
