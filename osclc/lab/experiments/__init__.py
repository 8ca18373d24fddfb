"""Experiments that train and compare model variants over seeds (classification, segmentation) and their result tables."""
