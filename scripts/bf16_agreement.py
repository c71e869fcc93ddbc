"""How far PyTorch's own bf16 autocast is from fp32 on the setup of invprop's bf16 test
(CIFAR ResNet-18 width 0.5, batch 32 of random 3x32x32 images, cross-entropy at initialisation):
the yardstick for the tolerances in Tests/NNTests/PrecisionAndExportTests.swift. Run: python3 scripts/bf16_agreement.py"""
import sys; sys.path.insert(0,'scripts')
import torch
from resnet_reference import ResNet
torch.manual_seed(0)
m=ResNet('resnet18', stem='cifar', in_channels=3, width=0.5, head='linear', out_dim=10)
x=torch.rand(32,3,32,32)*2-1; y=torch.arange(32)%10
def grads(bf16):
    m.zero_grad()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        out=m(x)
    loss=torch.nn.functional.cross_entropy(out.float(), y); loss.backward()
    return out.float().detach(), torch.cat([p.grad.flatten() for p in m.parameters()])
o1,g1=grads(False); o2,g2=grads(True)
print('output', ((o2-o1).norm()/o1.norm()).item(), 'grads', ((g2-g1).norm()/g1.norm()).item())
