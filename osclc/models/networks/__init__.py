"""Networks: AlexNet-style teachers, U-Net, SCLC students (classification and U-Net), network plans and architecture configs."""
