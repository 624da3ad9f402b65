
(function(){
  "use strict";
  var facets=["source","cache","memory","family"];
  function apply(){
    var off={};
    facets.forEach(function(f){off[f]={};});
    document.querySelectorAll("#filter input[type=checkbox]").forEach(function(b){
      if(!b.checked){off[b.dataset.facet][b.value]=true;}
    });
    document.querySelectorAll("tr[data-family],tr[data-source],svg g.series").forEach(function(el){
      var hide=facets.some(function(f){var v=el.getAttribute("data-"+f);return v!==null&&off[f][v];});
      el.classList.toggle("hidden",hide);
      if(el.tagName.toLowerCase()==="g"){el.style.display=hide?"none":"";}
    });
  }
  document.querySelectorAll("#filter input[type=checkbox]").forEach(function(b){
    b.addEventListener("change",apply);
  });
  var data=document.getElementById("explorer-data");
  if(!data){return;}
  var g=JSON.parse(data.textContent);
  var ids=["x-inv","x-spi","x-ttl","x-mem"];
  function show(){
    var at=ids.map(function(id){return Number(document.getElementById(id).value);});
    var p=((at[0]*g.secrets_per_invocation.length+at[1])*g.cache_ttl_s.length+at[2])*g.memory_mb.length+at[3];
    var order=g.approaches.map(function(_,i){return i;});
    order.sort(function(a,b){return g.monthly_cost_usd[p][a]-g.monthly_cost_usd[p][b];});
    var body=document.querySelector("table.explorer tbody");
    while(body.firstChild){body.removeChild(body.firstChild);}
    order.forEach(function(i){
      var tr=document.createElement("tr");
      var cost=g.monthly_cost_usd[p][i];
      tr.dataset.approach=g.approaches[i];
      tr.dataset.cost=String(cost);
      var rec=g.recommended[p]===i;
      if(rec){tr.className="recommended";}
      var a=document.createElement("td");a.className="l";a.textContent=(rec?"★ ":"")+g.approaches[i];
      var c=document.createElement("td");c.className="r cost";c.textContent=cost===null?"–":cost.toFixed(2);
      var money=function(v,cls){var td=document.createElement("td");td.className="r "+cls;td.textContent=v===null?"–":v.toFixed(2);return td;};
      var f=document.createElement("td");f.className="l"+(g.feasible[p][i]?"":" fails");f.textContent=g.feasible[p][i]?"yes":"✗ no";
      tr.appendChild(a);tr.appendChild(c);tr.appendChild(money(g.trail_copies_usd[p][i],"trail"));tr.appendChild(money(g.vpc_access_usd[p][i],"vpc"));tr.appendChild(f);body.appendChild(tr);
    });
  }
  ids.forEach(function(id){document.getElementById(id).addEventListener("change",show);});
})();
