/// The flame graph's behaviour, inline in the page (no network): a click on a frame zooms into it (its ancestors
/// span the width, frames beside it are hidden, labels re-cut to the new widths), a click on the top frame zooms out;
/// the search box highlights every frame whose name contains the text and sums their bytes, counting a match inside
/// another match once.
extension FlameGraph {
    static let css = """
        .flamegraph{margin:6px 0}.flame-tools{font-size:12px;margin:4px 0}.flame-search{width:260px;font-size:12px}
        .flame-found{font-weight:600;margin-left:6px}svg.flame g.f{cursor:pointer}svg.flame g.f.match rect{fill:#d63cd0}
        """

    static let script = """
        (function(){
        var NS='http://www.w3.org/2000/svg';
        function cut(name,w){var fits=Math.floor((w-6)/6.2);if(fits<3)return '';return name.length<=fits?name:name.slice(0,fits-1)+'\\u2026';}
        function fmt(b){var u=['B','KiB','MiB','GiB','TiB'],i=0;while(b>=1024&&i<4){b/=1024;i++;}return (b>=100||i==0?Math.round(b):b.toFixed(b>=10?1:2))+' '+u[i];}
        document.querySelectorAll('div.flamegraph').forEach(function(box){
          var svg=box.querySelector('svg.flame'),W=+svg.getAttribute('width'),input=box.querySelector('.flame-search'),found=box.querySelector('.flame-found');
          var frames=Array.prototype.map.call(svg.querySelectorAll('g.f'),function(g){
            var r=g.querySelector('rect'),t=g.querySelector('text'),tip=g.querySelector('title').textContent;
            if(!t){t=document.createElementNS(NS,'text');t.setAttribute('font-size','11');t.setAttribute('y',+r.getAttribute('y')+12);g.appendChild(t);}
            return {g:g,r:r,t:t,x:+r.getAttribute('x'),w:+r.getAttribute('width')+0.5,d:+g.getAttribute('data-d'),b:+g.getAttribute('data-b'),name:tip.slice(0,tip.lastIndexOf(': '))};
          });
          var root=frames[0];
          function place(f,x,w){f.g.style.display='';f.r.setAttribute('x',x.toFixed(1));f.r.setAttribute('width',Math.max(w-0.5,0.5).toFixed(1));f.t.setAttribute('x',(x+3).toFixed(1));f.t.textContent=cut(f.name,w);}
          function zoom(z){
            var eps=0.01;
            frames.forEach(function(f){
              if(f.d<z.d){ if(f.x<=z.x+eps&&f.x+f.w>=z.x+z.w-eps)place(f,0,W);else f.g.style.display='none'; }
              else if(f.x>=z.x-eps&&f.x+f.w<=z.x+z.w+eps)place(f,(f.x-z.x)/z.w*W,f.w/z.w*W);
              else f.g.style.display='none';
            });
            svg.setAttribute('data-zoomed',z===root?'':z.name);
          }
          frames.forEach(function(f){f.g.addEventListener('click',function(){zoom(f);});});
          function search(text){
            var hits=[];
            frames.forEach(function(f){var m=text!==''&&f.name.indexOf(text)>=0;f.g.classList.toggle('match',m);if(m)hits.push(f);});
            hits.sort(function(a,b){return a.d-b.d;});
            var counted=[],sum=0;
            hits.forEach(function(f){
              if(counted.some(function(c){return c.x<=f.x+0.01&&c.x+c.w>=f.x+f.w-0.01;}))return;
              counted.push(f);sum+=f.b;
            });
            found.textContent=text===''?'':hits.length+' frame'+(hits.length==1?'':'s')+' match: '+fmt(sum)+' ('+(root.b?(sum/root.b*100).toFixed(1):'0')+'% of '+fmt(root.b)+')';
            svg.setAttribute('data-matched-bytes',String(sum));
          }
          input.addEventListener('input',function(){search(input.value);});
        });
        })();
        """
}
