# misc.Power at class level: boot reasons and battery voltage of a cold-booted module.
from misc import Power

print(Power.powerOnReason())
print(Power.powerDownReason())
vbatt = Power.getVbatt()
print(type(vbatt).__name__, 3000 <= vbatt <= 4400)
