"""What the RealNVP notebooks import besides the homework itself: the training recipes and the evaluation."""
