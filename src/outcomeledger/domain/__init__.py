"""Value types and rules: money, periods, events, commands, terms and their checks. Imports nothing
outside domain/ and no I/O.
"""
