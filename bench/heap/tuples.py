# Workload: 500 (x, y) tuples of small ints, as a sampled curve.
def workload():
    return [(i, i * i % 97) for i in range(500)]
