"""LiveKit's create/update-time validation of SIP objects, partial updates and list filters.

Pure: no I/O. The embedded control plane runs it before storing anything; the compiler's
static checks run it per spec object, so both refuse exactly what LiveKit refuses.
"""
