# log: LEVEL:name:message records, the firmware's level names, the global level.
import log
import sys

log.set_output(sys.stdout)  # records on stdout, so this test sees their order exactly
a = log.getLogger("A")
a.debug("hidden at INFO")
a.info("info %d", 1)
a.warning("warn")
a.error("error %s", "two")
a.critical("crit")
a.log(25, "custom level")
print(log.getLogger("A") is a, log.getLogger().name)
a.setLevel(log.DEBUG)
a.debug("debug now shown")
print(a.isEnabledFor(log.DEBUG), log.getLogger("B").isEnabledFor(log.DEBUG))
log.basicConfig(level=log.ERROR)
b = log.getLogger("B")
b.warning("hidden at ERROR")
b.error("shown")
log.basicConfig(level=log.INFO, stream=sys.stdout, filename="x.log", format="%(x)s")
log.info("module-level info")
print(log.CRITICAL, log.ERROR, log.WARNING, log.INFO, log.DEBUG, log.NOTSET)
