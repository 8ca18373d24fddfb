"""Datasets read from local folders or shipped with packages (digits, CIFAR-10, IDX, image folders, shapes, Carvana, VOC) and augmentation."""
