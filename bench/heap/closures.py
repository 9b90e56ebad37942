# Workload: 50 callbacks made by a factory function (closures over two values).
def make(n, name):
    def callback(arg):
        return (n, name, arg)
    return callback


def workload():
    return [make(i, "cb%d" % i) for i in range(50)]
