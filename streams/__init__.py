"""CCTV relay: camera sources, H.264 passthrough, WHEP, snapshots, health."""
