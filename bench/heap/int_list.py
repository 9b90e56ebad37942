# Workload: a list of 1000 integers (readings).
def workload():
    return [i * 7 for i in range(1000)]
