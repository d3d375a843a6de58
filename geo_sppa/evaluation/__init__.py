"""Did the scheme work? Before/after evaluation of treated sites by the empirical Bayes method."""
