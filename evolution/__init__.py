"""evolution: the offline research loop that turns journals into challenger strategies.
Uses ``journal`` and ``asnd.core`` only, never the daemon runtime.
"""
