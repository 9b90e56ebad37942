# Workload: 300 short log lines kept in a list.
def workload():
    return ["INFO:app:sample %d ok" % i for i in range(300)]
