"""The wire contract of jxc: events, envelopes, batches, subjects and codecs.

Pure: no I/O, no clock, no randomness. Every side (edge, cloud, firmware bridge) imports this
package and nothing of each other.
"""
