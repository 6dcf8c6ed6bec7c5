#!/usr/bin/env python3
"""Independent reference for OptimizerTests: two steps of each optimizer from w = [1, -2] with
gradients [0.5, 0.25] then [-0.2, 0.4], written from the PyTorch documentation formulas."""
import math
w0=[1.0,-2.0]; gs=[[0.5,0.25],[-0.2,0.4]]
def sgd(lr,mu=0,nest=False,wd=0):
    w=list(w0); v=[0,0]; out=[]
    for g in gs:
        for i in range(2):
            gi=g[i]+wd*w[i]
            if mu:
                v[i]=mu*v[i]+gi
                gi = gi+mu*v[i] if nest else v[i]
            w[i]-=lr*gi
        out.append(list(w))
    return out
def rms(lr,a=0.99,eps=1e-8,mu=0,wd=0):
    w=list(w0); s=[0,0]; b=[0,0]; out=[]
    for g in gs:
        for i in range(2):
            gi=g[i]+wd*w[i]; s[i]=a*s[i]+(1-a)*gi*gi; u=gi/(math.sqrt(s[i])+eps)
            if mu: b[i]=mu*b[i]+u; w[i]-=lr*b[i]
            else: w[i]-=lr*u
        out.append(list(w))
    return out
def adam(lr,b1=0.9,b2=0.999,eps=1e-8,wd=0,decoupled=False):
    w=list(w0); m=[0,0]; v=[0,0]; out=[]
    for t,g in enumerate(gs,1):
        for i in range(2):
            if decoupled: w[i]*=1-lr*wd; gi=g[i]
            else: gi=g[i]+wd*w[i]
            m[i]=b1*m[i]+(1-b1)*gi; v[i]=b2*v[i]+(1-b2)*gi*gi
            w[i]-=lr*(m[i]/(1-b1**t))/(math.sqrt(v[i]/(1-b2**t))+eps)
        out.append(list(w))
    return out
for name,r in [("sgd",sgd(0.1)),("sgd_wd",sgd(0.1,wd=0.1)),("momentum",sgd(0.1,0.9)),("nesterov",sgd(0.1,0.9,True)),
 ("rmsprop",rms(0.01)),("rmsprop_mom",rms(0.01,mu=0.5)),("adam",adam(0.1)),("adam_l2",adam(0.1,wd=0.1)),("adamw",adam(0.1,wd=0.1,decoupled=True))]:
    print(name, [[round(x,7) for x in s] for s in r])
