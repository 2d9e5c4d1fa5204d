"""Plan and apply: Create/Update/Delete values (`changes`), the diff (`diff`), route impact
(`impact`), the Plan value (`plan`), renderers (`render`), saved plans (`saved`), the apply
engine (`engine`) and apply locking (`lock`).
"""
