"""Goals: a target for one number of a program (or of every program) over a period of days,
and how far along it is (the number itself comes from `goodword.analytics`)."""
