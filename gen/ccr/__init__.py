"""The CCR architecture (Li et al., *CCR: A Concise Convolution Rule for Sparse Neural Network
Accelerators*): its config and presets."""
