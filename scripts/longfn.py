import re,sys,os
res=[]
for root,_,files in os.walk(sys.argv[1]):
    for f in files:
        if not f.endswith('.rs'): continue
        p=os.path.join(root,f); L=open(p).read().split('\n')
        intest=False
        for i,l in enumerate(L):
            m=re.match(r'^(\s*)(pub(\([^)]*\))? )?(async )?(const )?(unsafe )?fn (\w+)',l)
            if m:
                ind=m.group(1)
                for j in range(i+1,len(L)):
                    if L[j]==ind+'}' :
                        n=j-i+1
                        if n>80: res.append((n,p,i+1,m.group(7)))
                        break
for r in sorted(res,reverse=True): print(*r)
