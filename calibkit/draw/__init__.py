"""Drawing: plotly figures from computed statistics, and the HTML page builder.

Takes statistics computed elsewhere and returns figures or pages; it never
computes a metric, never imports the engine or torch, and loads plotly only
when a figure is drawn.
"""
