# Workload: a lookup table of small records (dict of str -> list of int/str).
def workload():
    d = {}
    for i in range(200):
        d["key%d" % i] = [i, i * 2, "v%d" % i]
    return d
