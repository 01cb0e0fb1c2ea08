"""Demo and benchmark data: `snapscale seed-demo` fills a database with a believable world
(a skewed follow graph, one celebrity, real photos, likes and comments)."""
