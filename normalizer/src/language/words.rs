//! The word model's vocabulary: for each language, frequent words of everyday and support
//! writing (articles, pronouns, prepositions, auxiliaries, greetings, the words of orders,
//! invoices and passwords), written for this project from general knowledge of the languages
//! (not derived from the labelled test sentences).
//!
//! A word listed under several languages counts for each of them and so separates none; what
//! decides is the words that only some languages use. Cognates that every language spells alike
//! ("problem", "internet", "status") are left out on purpose. Tokens are lowercase runs of
//! letters, so "don't" is "don" + "t" and "l'imprimante" is "l" + "imprimante": the pieces
//! of contractions and elisions are listed as such.

/// `(ISO 639-1, space-separated words)`, one entry per language of the word model.
pub(super) const WORDS: [(&str, &str); 12] = [
    (
        "en",
        "the be to of and a in that have i it for not on with he as you do at this but his by \
         from they we say her she or an will my one all would there their what so up out if \
         about who get which go me when make can like time no just him know take people into \
         year your good some could them see other than then now look only come its over think \
         also back after use two how our work first well way even new want because any these \
         give day most us is are was were has had been am did does doing done please thanks \
         thank hi hello dear regards invoice account password still received since sent \
         cannot don t m s ve ll re d didn doesn isn haven wasn won couldn wouldn shouldn need \
         help issue working again before here where why should yesterday today tomorrow week \
         month morning afternoon let send copy find found yet arrived since still which while \
         someone anyone everything something nothing already every through though until \
         able unable received receive tried trying try keeps keep attached below above \
         under",
    ),
    (
        "de",
        "der die das und in zu den von mit sich des auf für ist im dem nicht ein eine als auch \
         es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über \
         einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei ihr ich \
         mich mir mein meine meinen meiner meinem wir uns unser unsere unseren unserer ihnen \
         ihre ihren können kann könnte könnten bitte danke vielen dank hallo guten tag morgen \
         gestern heute seit immer wieder schon jetzt leider gerne möchte möchten würde würden \
         habe hatte hätte keine kein keinen sehr gibt geht worden wenn weil da dann denn doch \
         mal neue neuen neues alle alles beim vom ins zwei drei woche monat letzten nächsten \
         herr frau geehrte geehrter damen herren freundlichen grüßen grüße rechnung \
         bestellung passwort konto funktioniert leider nicht mehr angekommen ob was wo wann \
         warum wer welche welcher jemand etwas nichts dieser diese dieses diesem schon \
         zurück sobald obwohl ist sind bekommen erhalten gesendet geschickt \
         ja nie",
    ),
    (
        "sv",
        "och i att det som en på är av för med till den har de inte om ett han men var jag sig \
         från vi så kan man när år säger hon under också efter eller nu sin där vid mot ska \
         skulle kunna få finns hade blev bli blir alla andra då in ut upp här mig mitt min \
         mina vår vårt våra er ert era ni er dem hej tack hälsningar vänliga mvh fortfarande \
         inte ännu igen redan sedan igår idag imorgon vecka veckan månad månaden förra nästa \
         faktura fakturan beställning beställningen lösenord lösenordet konto kontot hjälp \
         fungerar fungerade någon något några ingen inget inga vad hur varför vem vilken \
         vilket vilka kunde vill ville måste gärna hos över mellan utan bara mycket lite \
         också eftersom därför att jag har hade kommit skickade skickat fått gång gången \
         ja jo nej se ha dag går \
         fram",
    ),
    (
        "fr",
        "le la les de des du un une et à en est que qui pour pas ne dans sur au aux avec ce ces \
         cette il elle ils elles on nous vous je me mon ma mes notre nos votre vos leur leurs \
         se sa son ses par plus mais ou où si y a ai avons avez ont été être fait faire peut \
         pouvez pourriez pourrait voudrais veux merci bonjour bonsoir madame monsieur \
         cordialement salutations toujours encore déjà depuis hier aujourd hui demain semaine \
         mois dernier dernière prochain prochaine facture commande mot passe compte aide \
         fonctionne plus rien personne quelqu quelque chose tout tous toutes très bien \
         comment pourquoi quand quel quelle l d j n qu c s m t est sont était avait reçu \
         envoyé après avant chez sans sous entre donc car alors parce moi toi lui eux \
         te non",
    ),
    (
        "es",
        "el la los las de del y a en que es un una unos unas por con para no se lo le les su \
         sus al como más pero o u me mi mis te tu tus nos nuestro nuestra nuestros vuestro \
         usted ustedes yo él ella ellos este esta estos estas ese esa eso esto hay ha he han \
         has hemos sido ser estar está están estoy era fue puede pueden podrían podría \
         quiero quisiera gracias hola buenos buenas días tardes saludos atentamente todavía \
         aún ya desde ayer hoy mañana semana mes pasado próximo factura pedido contraseña \
         cuenta ayuda funciona nada nadie alguien algo todo todos muy bien cómo por qué \
         cuándo dónde cuál sin sobre entre hasta después antes porque también otra otro vez \
         cuando donde si sí ni recibido enviado llegado \
         son tiene dos uno \
         cada cuanto mientras aunque sigue siguen puedo tengo tenemos necesito necesitamos quería queremos hace hacer estaba vuelve",
    ),
    (
        "nl",
        "de het een en van in is dat op te zijn voor met niet die aan er als ook maar om bij \
         of uit dan nog wel naar kan dit ze zich wat door heeft hebben had wordt werd worden \
         zou zouden kunnen kunt wil willen ik mij me mijn we wij ons onze jullie u uw hij zij \
         haar hem hun graag bedankt dank hallo goedemorgen goedemiddag beste groet groeten \
         vriendelijke nog steeds al sinds gisteren vandaag morgen week maand vorige volgende \
         factuur bestelling wachtwoord account hulp werkt niets niemand iemand iets alles \
         heel erg goed hoe waarom wanneer waar welke zonder over tussen tot na voor omdat \
         weer toen geen moet moeten mag even ontvangen verstuurd gestuurd \
         was alle wie ja",
    ),
    (
        "it",
        "il lo la i gli le di del della dei delle da dal dalla in nel nella con su sul per tra \
         fra un una uno e ed è che non si a al alla ai mi ti ci vi ho hai ha abbiamo avete \
         hanno sono sei siamo siete era stato stata essere avere mio mia miei mie tuo tua \
         nostro nostra nostri vostro vostra suo sua loro io lei lui noi voi questo questa \
         questi quello quella come più ma o anche se grazie buongiorno buonasera salve ciao \
         gentile cordiali saluti ancora già da ieri oggi domani settimana mese scorso scorsa \
         prossimo prossima fattura ordine password account aiuto funziona niente nessuno \
         qualcuno qualcosa tutto tutti molto bene perché quando dove quale senza dopo prima \
         anche poi adesso ora sempre potreste potete posso può vorrei l dell nell all un \
         c d ricevuto inviato arrivato \
         no qui ne alle so",
    ),
    (
        "pt",
        "o a os as de do da dos das em no na nos nas um uma uns umas e é que não se por para \
         com ao à aos pelo pela me te lhe nos vos meu minha meus minhas seu sua seus suas \
         nosso nossa vosso vossa eu ele ela eles elas você vocês este esta isto esse essa isso \
         aquele há tem têm tenho temos foi ser estar está estão estou era pode podem podia \
         poderia quero gostaria obrigado obrigada olá bom boa dia tarde cumprimentos \
         atenciosamente ainda já desde ontem hoje amanhã semana mês passado próximo fatura \
         encomenda pedido senha palavra passe conta ajuda funciona nada ninguém alguém algo \
         tudo todos muito bem como porque quando onde qual sem sobre entre até depois antes \
         também outra outro vez mas ou mais recebi recebido enviado chegou",
    ),
    (
        "da",
        "og i at det som en på er af for med til den har de ikke om et han men var jeg sig fra \
         vi så kan man når år siger hun under også efter eller nu sin der ved mod skal skulle \
         kunne få findes havde blev blive bliver alle andre da ind ud op her mig mit min mine \
         vores jeres jer dem hej tak venlig venlige hilsen mvh stadig endnu igen allerede \
         siden i går dag morgen uge ugen måned måneden sidste næste faktura fakturaen ordre \
         ordren bestilling adgangskode konto kontoen hjælp virker virkede nogen noget ingen \
         intet hvad hvordan hvorfor hvem hvilken hvilket hvilke kunne vil ville skal gerne \
         hos over mellem uden bare meget lidt fordi derfor har havde kommet sendt fået gang \
         gange hvis hvornår nej ja jo \
         se fungerer kun \
         tilbage længere fik gik gøre tjekke venligst fejl job måske desværre sådan taget spørgsmål købt købte hjemme selv sammen \
         åbner bruge bruger brugt søge købe sige tage tager give giver lave have skrive læse betale betalt modtaget modtage sendte ringede skrev spurgte kigge kigget ser set været være skærm fejl hjemmeside beløb virksomhed uge morges aften itu arbejder arbejde \
         hendes anden andet frem \
         sætte sidde lægge læge lægen tandlæge eftermiddag haft ondt hjælpe hjælpen mere penge oplysninger op gør blevet spørge tog køb sælge vej vejen lejlighed lejligheden nøgle nøglen maden vand vandet kold koldt billede billeder vindue køkken køkkenet leveret leverede modtog besked beskeden hurtigt altid aldrig nogle nyt rigtig rigtigt syg syge sygdom søn mand manden kvinde kæreste arbejdet møde mødet uger dage klokken sagde",
    ),
    (
        "nb",
        "og i at det som en på er av for med til den har de ikke om et han men var jeg seg fra \
         vi så kan man når år sier hun under også etter eller nå sin der ved mot skal skulle \
         kunne få finnes hadde ble bli blir alle andre da inn ut opp her meg mitt min mine \
         vår vårt våre deres dere dem hei takk vennlig vennlige hilsen mvh fortsatt ennå \
         igjen allerede siden i går dag morgen uke uka måned måneden forrige neste faktura \
         fakturaen ordre ordren bestilling passord passordet konto kontoen hjelp fungerer \
         virker noen noe ingen ingenting hva hvordan hvorfor hvem hvilken hvilket hvilke \
         kunne vil ville gjerne hos over mellom uten bare mye litt fordi derfor hadde kommet \
         sendt fått gang ganger hvis når nei ja jo \
         se ha kun \
         å fikk gikk tilbake lenger veldig gjøre sjekke vennligst feil jobb kanskje dessverre slik enda tatt gi spørsmål kjøpt kjøpte hjemme selv sammen \
         åpner bruke bruker brukt søke kjøpe si ta tar gir lage ha skrive lese betale betalt mottatt motta sendte ringte skrev spurte ser sett vært være skjerm nettside beløp bedrift uke morges kveld jobber e post \
         hennes annen annet fram \
         sitte legge lege legen tannlege ettermiddag hatt vondt hjelpe hjelpen mer penger opplysninger opp gjør blitt spørre tok kjøp selge vei veien leilighet leiligheten nøkkel nøkkelen maten vann vannet kald kaldt bilde bilder vindu kjøkken kjøkkenet levert leverte mottok beskjed beskjeden raskt alltid aldri noen nytt syk syke sykdom sønn mannen kvinne kjæreste arbeidet møte møtet uker dager klokka sa riktig",
    ),
    (
        "fi",
        "ja on ei se että oli ovat olen olet olemme olette ole en et emme ette eivät hän me te \
         he minä sinä mutta tai kun jos kuin niin myös vielä jo nyt sitten tämä tämän tätä \
         tässä tuo se sen sitä siinä mikä mitä miksi miten milloin missä kuka joka jonka \
         jotka kaikki mitään jotain joku kukaan minun minulla minulle minua sinun meidän \
         teidän heidän hei moi kiitos kiitoksia terveisin ystävällisin hyvää huomenta päivää \
         iltapäivää eilen tänään huomenna viikko viikolla kuu kuussa viime ensi lasku laskun \
         tilaus tilauksen tilaukseni salasana salasanan tili tilin tililtäni apua toimii \
         toimi ole voi voisitteko voisiko voitteko haluaisin haluan pitäisi täytyy vaikka \
         koska siksi ennen jälkeen kanssa ilman asti saakka vielä vieläkään enää \
         eikä sekä vai koko heti aina olisi olin ollut olla meillä meille teillä teille onko ovatko voiko voinko ne niitä siitä siihen tähän täällä mukaan aikana kautta takia vuoksi kuten tule tulee tullut saan saada saanut sain voin voit voimme tarvitsen tarvitsemme vain kuitenkin siis eli taas uudelleen liian hyvin paljon vähän jotta mukana kuitenkaan mitä",
    ),
    (
        "pl",
        "i w z na do się nie to jest że o a jak po ale co od za tak czy jego jej ich ten ta te \
         tego tej tym są być był była było były będzie może mogę mogą można ma mam mamy masz \
         ja ty on ona my wy oni mnie mi mój moja moje moim mojego nasz nasza nasze naszego \
         wasz pan pani państwo państwa dzień dobry dziękuję dzięki pozdrawiam pozdrowienia \
         szanowni szanowny wciąż nadal jeszcze już od wczoraj dzisiaj dziś jutro tydzień \
         tygodniu miesiąc miesiącu zeszłym przyszłym faktura fakturę faktury zamówienie \
         zamówienia hasło hasła konto koncie pomoc działa nic nikt ktoś coś wszystko \
         wszystkie bardzo dobrze dlaczego kiedy gdzie który która które bez przez przed po \
         między dla ponieważ bo też także jednak tylko proszę czy otrzymałem otrzymałam \
         wysłane \
         ze",
    ),
];
