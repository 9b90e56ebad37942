# Workload: 100 instances of a small class with three attributes.
class Reading:
    def __init__(self, n):
        self.id = n
        self.value = n * 3
        self.unit = "mV"


def workload():
    return [Reading(i) for i in range(100)]
