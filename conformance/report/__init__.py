"""Run outputs: summary.json, the HTML requirement matrix, JUnit properties, baselines."""
