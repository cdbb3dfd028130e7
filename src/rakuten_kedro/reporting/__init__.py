"""Results in the paper's terms: the Table-1-like results table and the figures.

``table``: scores per method and the table with the paper's figures beside ours;
``figures``: matplotlib figures (returned, never saved here: the catalog saves them).
"""
