"""``genmix run``: the paper's experiment (Table 1, Fig. 3, Fig. 4) from one config, cached by unit."""
