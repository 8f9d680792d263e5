"""The platform's workers and live surfaces: the edge functions, the workers they drive, and Realtime.

DESIGN (edge functions, /realtime/v1/websocket) and the seeds' worker kernels.
"""
