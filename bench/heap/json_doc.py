# Workload: a parsed JSON configuration document.
import ujson


def workload():
    text = '{"apn": "cmnet", "servers": [%s], "retry": {"count": 3, "delay": 5}}' % ",".join(
        '{"host": "srv%d.example.com", "port": %d}' % (i, 8000 + i) for i in range(40))
    return ujson.loads(text)
