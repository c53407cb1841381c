"""Built-in performance predictors.

Each registers through the ``nasbench.surrogates`` entry-point group (see
pyproject.toml), exactly as a third-party package would; create them with
:func:`nasbench.prediction.create_surrogate`. They use only public names of
:mod:`nasbench.prediction` and :mod:`nasbench.core`. Modules:

- :mod:`nasbench.surrogates.tree`: ``xgb`` (gradient-boosted trees, the default) and ``rf``
  (random forest, std from the spread of its trees);
- :mod:`nasbench.surrogates.gp`: ``gp``, a Gaussian process with an exponentiated-Hamming kernel;
- :mod:`nasbench.surrogates.neural`: ``mlp-ensemble`` (BANANAS-style) and ``gin`` (graph
  isomorphism network, torch imported on first fit);
- :mod:`nasbench.surrogates.ensemble`: ``ensemble``, any of the above bagged, with a
  NAS-Bench-301-style noise model;
- :mod:`nasbench.surrogates.learning_curve`: ``lc-extrapolation``, the final accuracy from the
  first epochs of a learning curve;
- :mod:`nasbench.surrogates.proxies`: the zero-cost proxies, scores of a network at initialisation;
- :mod:`nasbench.surrogates.zero_cost`: ``zero-cost``, one proxy as a predictor, and scoring a
  whole table with them (stored as :mod:`nasbench.prediction.proxy_scores` files);
- :mod:`nasbench.surrogates.weight_sharing`: ``weight-sharing``, a supernet's inherited weights;
- :mod:`nasbench.surrogates.commands`: the ``nasbench proxies`` command (entry-point group
  ``nasbench.commands``).

Importing this package imports none of its modules (and never torch).
"""
