# By default records go to stderr (the runner merges it into the output).
import log

log.basicConfig(level=log.INFO)
log.getLogger("QuecPython").info("to stderr")
